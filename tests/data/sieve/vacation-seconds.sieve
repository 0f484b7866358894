# message: plain.eml
require "vacation-seconds";
vacation :seconds 3600 :subject "Away" "Back soon.";
