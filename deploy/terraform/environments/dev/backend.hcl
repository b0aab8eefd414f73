# terraform init -backend-config=backend.hcl; bucket, table and key from deploy/terraform/bootstrap.
bucket         = "aptmagic-tfstate-111111111111"
key            = "aptmagic/dev/terraform.tfstate"
region         = "eu-west-1"
dynamodb_table = "aptmagic-terraform-locks"
encrypt        = true
