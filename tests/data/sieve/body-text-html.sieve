# message: rfc5173.eml
require ["body", "fileinto"];
if body :text :contains "<body>" { fileinto "never"; }
if body :text :contains "Please say Hello" { fileinto "nested-text"; }
