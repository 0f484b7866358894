# message: plain.eml
require ["fileinto", "subaddress"];
if address :user "from" "joe" { fileinto "user"; }
if address :detail "from" "lists" { fileinto "detail"; }
