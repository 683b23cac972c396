"""Infrastructure: errors users see, atomic files, the keychain, the devices jobs run on."""
