#!/bin/sh
# A self-signed development certificate for the regions' hosts, made once per volume.
set -eu
tls=/etc/nginx/tls
if [ ! -s "$tls/cert.pem" ]; then
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=myschool development" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:myschool.edu.ru,DNS:myschool.mosreg.ru,DNS:education.admoblkaluga.ru,DNS:ms-edu.tatar.ru,DNS:school.mos.ru" \
    -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
fi
exec nginx -g "daemon off;"
