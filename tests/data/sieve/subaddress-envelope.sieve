# message: plain.eml
require ["fileinto", "subaddress", "envelope"];
if envelope :detail "to" "" { fileinto "empty-detail"; } else { fileinto "no-detail"; }
