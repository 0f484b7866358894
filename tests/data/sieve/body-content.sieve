# message: multipart.eml
require ["body", "fileinto"];
if body :content "text/html" :contains "click" { fileinto "html"; }
if body :content "text/plain" :contains "click" { fileinto "never"; }
