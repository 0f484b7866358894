# message: multipart.eml
require ["body", "fileinto"];
if body :contains "café" { fileinto "text"; }
if body :contains "secret" { fileinto "never"; }
