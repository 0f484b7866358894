# message: plain.eml
require ["date", "relational", "fileinto"];
if currentdate :value "ge" "year" "2000" { fileinto "now"; }
