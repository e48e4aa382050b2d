# berth's container image: a static binary on nothing (FROM scratch, no base
# image to pull), a non-root user, the SQLite database and its key in /data.
# Build it with deploy/image/build.sh (podman or docker), which compiles the
# static binary and prepares this context; docs/operations: deploy/README.md.
FROM scratch
COPY passwd group /etc/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --chown=65532:65532 data /data
COPY berth /berth
USER 65532:65532
ENV BERTH_DB=/data/berth.db \
    BERTH_LISTEN=0.0.0.0:8080
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/berth", "healthcheck", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/berth"]
CMD ["serve"]
