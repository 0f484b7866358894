# message: plain.eml
require "fileinto";
if header :contains :comparator "i;octet" "subject" "NEWS" { fileinto "octet"; }
if header :contains :comparator "i;ascii-casemap" "subject" "NEWS" { fileinto "casemap"; }
