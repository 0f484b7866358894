# message: plain.eml
require ["fileinto", "variables"];
if address :localpart :matches "from" "*+*" { fileinto "${1}.${2}"; }
