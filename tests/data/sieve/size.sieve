# message: plain.eml
require "fileinto";
if size :over 100 { fileinto "over100"; }
if size :under 1K { fileinto "under1k"; }
if size :over 1M { fileinto "never"; }
