# message: plain.eml
require "fileinto";
if address :all :is ["to", "cc"] "b@example.org" { fileinto "all"; }
