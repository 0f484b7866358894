# message: plain.eml
require ["fileinto", "comparator-i;ascii-numeric"];
if header :is :comparator "i;ascii-numeric" "x-count" "012" { fileinto "twelve"; }
if header :is :comparator "i;ascii-numeric" "subject" "abc" { fileinto "infinity"; }
