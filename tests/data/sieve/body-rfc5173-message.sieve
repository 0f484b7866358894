# message: rfc5173.eml
require ["body", "fileinto"];
if body :content "message/rfc822" :contains "hello request" { fileinto "nested-header"; }
if body :content "message/rfc822" :contains "Please" { fileinto "never"; }
