# message: plain.eml
require "fileinto";
if not not not anyof (false, not true) { fileinto "odd"; }
