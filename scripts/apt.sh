# Sourced by the setup scripts: `apt_install PACKAGE...` installs Debian packages through apt, as root or through
# sudo, with apt's output on stderr (the scripts that print a value on stdout stay parseable). It does not check
# DOPPEL_NO_APT: each caller decides what skipping apt means for it.
apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install $*" >&2; return 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
}
