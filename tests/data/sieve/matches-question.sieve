# message: plain.eml
require ["fileinto", "variables"];
if header :matches "subject" "Caf? *" { fileinto "q-${1}"; }
