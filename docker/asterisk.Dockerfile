# Asterisk 22 from Debian sid, with the project's configuration.
# Build from the repository root: docker build -f docker/asterisk.Dockerfile .
FROM debian:sid-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      asterisk asterisk-core-sounds-en-gsm asterisk-core-sounds-ru-gsm \
 && ln -s ru_RU_f_IvrvoiceRU /usr/share/asterisk/sounds/ru \
 && rm -rf /var/lib/apt/lists/* \
 && asterisk -V | grep -q '^Asterisk 22\.'
COPY asterisk/ /etc/asterisk/
# /srv/callcenter/run: generated config, logs, spool (shared with the service);
# /srv/callcenter/sounds: the project's prompts.
VOLUME ["/srv/callcenter/run", "/srv/callcenter/sounds"]
CMD ["sh", "-c", "mkdir -p /srv/callcenter/run/log /srv/callcenter/run/spool /srv/callcenter/run/run /srv/callcenter/run/db /srv/callcenter/run/cache /srv/callcenter/run/recordings && exec asterisk -f -n -C /etc/asterisk/asterisk.conf"]
