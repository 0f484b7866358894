# message: plain.eml
require "fileinto";
if header :is "subject" "nope" { fileinto "A"; }
elsif header :contains "from" "joe" { fileinto "B"; }
else { fileinto "C"; }
