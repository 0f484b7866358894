# message: plain.eml
require "fileinto";
if header :contains ["x-none", "subject"] ["zzz", "NEWS"] { fileinto "multi"; }
