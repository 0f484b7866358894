# message: plain.eml
require "fileinto";
if exists ["X-COUNT", "subject"] { fileinto "exists"; }
