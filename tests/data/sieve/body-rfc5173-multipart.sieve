# message: rfc5173.eml
require ["body", "fileinto"];
if body :content "multipart" :contains "MIME" { fileinto "multipart-mime"; }
if body :content "multipart" :contains "Hello" { fileinto "never"; }
