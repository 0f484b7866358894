# message: rfc5173.eml
require ["body", "fileinto"];
if body :content ["text/", "/plain", "text/plain/x"] :contains "" { fileinto "never"; }
if body :content "" :contains "Please say" { fileinto "any"; }
