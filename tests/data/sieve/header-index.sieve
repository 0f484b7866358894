# message: plain.eml
require ["index", "fileinto"];
if header :index 2 :is "x-a" "two" { fileinto "second"; }
if header :index 1 :last :is "x-a" "three" { fileinto "last"; }
