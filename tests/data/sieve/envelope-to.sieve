# message: plain.eml
require ["envelope", "fileinto"];
if envelope :localpart :is "to" "me" { fileinto "env-to"; }
