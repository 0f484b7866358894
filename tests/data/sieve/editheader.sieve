# message: plain.eml
require ["editheader", "fileinto"];
addheader "X-Sieve-Filtered" "<kim@job.example.com>";
if header :contains "X-Sieve-Filtered" "kim@job" { fileinto "added"; }
deleteheader :index 1 "X-A";
deleteheader :index 2 "X-A";
if header :is "X-A" "two" { fileinto "second-kept"; }
deleteheader :matches "X-A" "t*";
if not exists "X-A" { fileinto "all-gone"; }
deleteheader "Received";
addheader :last "X-Last" "caf\u00e9";
if header :contains "X-Last" "caf" { fileinto "last"; }
