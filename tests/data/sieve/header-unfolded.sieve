# message: plain.eml
require "fileinto";
if header :is "subject" "Café news  continued" { fileinto "unfolded"; }
