# message: plain.eml
require "fileinto";
if exists ["x-count", "x-a"] { fileinto "both"; }
if exists ["x-count", "x-none"] { fileinto "never"; }
