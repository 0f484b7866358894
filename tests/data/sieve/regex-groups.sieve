# message: nested.eml
require ["regex", "variables", "fileinto"];
if header :regex "subject" "^\\[([a-z]+)\\] (.*)$" { fileinto "${1}-${2}"; }
if address :regex :localpart "from" "^al(i)(x)?ce$" { fileinto "from-${1}-${2}-${0}"; }
if header :regex :comparator "i;octet" "subject" "REPORT" { fileinto "octet"; }
if header :regex "to" "^me@(example|other)\\.org$" { fileinto "to"; }
