# message: plain.eml

