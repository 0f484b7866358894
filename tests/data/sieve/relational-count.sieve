# message: plain.eml
require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "5" { fileinto "many"; }
if header :count "eq" :comparator "i;ascii-numeric" "x-a" "3" { fileinto "three"; }
