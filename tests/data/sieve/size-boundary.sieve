# message: plain.eml
require "fileinto";
if size :over 0 { fileinto "nonempty"; }
if size :under 0 { fileinto "never"; }
