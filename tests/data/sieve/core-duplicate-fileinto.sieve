# message: plain.eml
require "fileinto";
fileinto "A";
fileinto "A";
keep;
keep;
