# message: rfc5173.eml
require ["body", "fileinto"];
if body :content "text/plain" :contains "Hello" { fileinto "plain"; }
if body :content "text/html" :contains "<body>" { fileinto "html"; }
if body :content "text" :contains "say" { fileinto "nested-plain"; }
