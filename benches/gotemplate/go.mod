module kms-agent/benches/gotemplate

go 1.19
