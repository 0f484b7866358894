# message: plain.eml
require "fileinto";
if header :matches "x-spam-level" "*****?" { fileinto "spam"; }
if header :matches "x-spam-level" "\\*\\*\\*\\*\\*\\*\\*" { fileinto "seven"; }
