# message: plain.eml
require "fileinto";
fileinto "Archive";
