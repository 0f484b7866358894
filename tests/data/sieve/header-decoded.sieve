# message: plain.eml
require "fileinto";
if header :contains "subject" "Café" { fileinto "decoded"; }
