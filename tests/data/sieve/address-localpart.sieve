# message: plain.eml
require "fileinto";
if address :localpart :is "from" "joe+lists" { fileinto "local"; }
