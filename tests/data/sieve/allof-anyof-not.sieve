# message: plain.eml
require "fileinto";
if allof (exists "from", anyof (false, header :contains "to" "other"), not size :over 10M) { fileinto "logic"; }
