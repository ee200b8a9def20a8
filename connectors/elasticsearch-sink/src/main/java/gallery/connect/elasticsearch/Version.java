package gallery.connect.elasticsearch;

/** The connector version, from the jar manifest (Implementation-Version) when packaged. */
final class Version {
    static final String FALLBACK = "0.1.0-dev";

    private Version() {
    }

    static String get() {
        String v = Version.class.getPackage() == null ? null : Version.class.getPackage().getImplementationVersion();
        return v == null || v.isBlank() ? FALLBACK : v;
    }
}
