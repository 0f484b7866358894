# message: received.eml
require "fileinto";
if address :all :contains "to" "" { fileinto "some"; } else { fileinto "none"; }
