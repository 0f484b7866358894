# message: plain.eml
require "fileinto";
fileinto "INBOX";
keep;
