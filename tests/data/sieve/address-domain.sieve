# message: plain.eml
require "fileinto";
if address :domain :is "from" "example.com" { fileinto "domain"; }
