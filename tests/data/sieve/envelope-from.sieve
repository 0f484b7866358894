# message: plain.eml
require ["envelope", "fileinto"];
if envelope :domain :is "from" "example.com" { fileinto "env-from"; }
