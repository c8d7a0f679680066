#!/bin/sh
# The injector's TLS without cert-manager: makes a CA and a server certificate for the Service
# (kms-injector.kms-injector.svc), stores them in the Secret `kms-injector-tls` and puts the CA
# into the webhook's caBundle. Run it after applying injector.yaml and webhook.yaml; run it
# again to renew (the injector reloads the Secret's files, the caBundle is replaced).
#   sh deploy/kubernetes/injector/self-signed.sh     # DAYS=365 by default
set -eu

ns=kms-injector
service=kms-injector
days=${DAYS:-365}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat >"$dir/openssl.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = kms-injector-ca
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:$service.$ns.svc, DNS:$service.$ns.svc.cluster.local
CNF

openssl req -x509 -config "$dir/openssl.cnf" -extensions ca -days "$days" -nodes \
  -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout "$dir/ca.key" -out "$dir/ca.crt"
openssl req -new -config "$dir/openssl.cnf" -subj "/CN=$service.$ns.svc" -nodes \
  -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout "$dir/tls.key" -out "$dir/tls.csr"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
  -days "$days" -extfile "$dir/openssl.cnf" -extensions server -out "$dir/tls.crt"

# Created, or replaced when it exists.
kubectl -n "$ns" create secret tls kms-injector-tls --cert="$dir/tls.crt" --key="$dir/tls.key" \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl patch mutatingwebhookconfiguration kms-injector --type=json -p \
  "[{\"op\": \"add\", \"path\": \"/webhooks/0/clientConfig/caBundle\", \"value\": \"$(openssl base64 -A -in "$dir/ca.crt")\"}]"
