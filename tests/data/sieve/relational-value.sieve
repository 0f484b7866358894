# message: plain.eml
require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if header :value "gt" :comparator "i;ascii-numeric" "x-count" "9" { fileinto "gt9"; }
if header :value "lt" "x-count" "9" { fileinto "string-lt"; }
