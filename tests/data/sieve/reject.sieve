# message: plain.eml
require "reject";
reject "Not wanted.";
