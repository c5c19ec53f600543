# Messages de la page de refus de gardien (français).
#
# Format : un sous-ensemble de Project Fluent, lu au démarrage par gardien-server (sans crate Fluent).
#   - un message par ligne : `clé = valeur` ; les clés sont faites de lettres, chiffres, `-` et `_` ;
#   - les lignes commençant par `#` sont des commentaires, les lignes vides sont ignorées ;
#   - `{ $nom }` est remplacé par une valeur (app, support) ; la valeur est échappée en HTML ;
#   - pas de valeur sur plusieurs lignes, pas d’autre `{` ou `}` dans le texte.
# Chaque fichier de langue doit avoir exactement les mêmes clés (un test unitaire le vérifie).

## Page
page-title-deny = Accès bloqué
page-title-challenge = Vérification supplémentaire requise
lead-deny = Votre accès à { $app } a été bloqué.
lead-challenge = Avant de pouvoir ouvrir { $app }, vous devez confirmer votre identité une nouvelle fois.
intro = Votre organisation protège cette application par des règles de sécurité (accès conditionnel) qui vérifient qui vous êtes, l’appareil que vous utilisez et l’endroit d’où vous vous connectez.
label-error-code = Code d’erreur
code-challenge-mfa = MFA requise
code-challenge = Vérification requise
heading-why = Pourquoi
heading-actions = Ce que vous pouvez faire
actions-together = Faites tout ceci ensemble :
heading-conditions = Ce qui a été vérifié
heading-admin = Pour les administrateurs
heading-details = Informations de dépannage
heading-copy = Informations à transmettre au support
copy-hint = Sélectionnez le texte ci-dessous et copiez-le dans votre message au support.
footer = Protégé par gardien.

## Temporaire ou structurel
temporary-true-label = Probablement temporaire
temporary-true = Cela peut fonctionner à nouveau plus tard, ou depuis un autre lieu ou un autre réseau.
temporary-false-label = Ne se résoudra pas tout seul
temporary-false = L’une des étapes ci-dessous est nécessaire pour obtenir l’accès.

## Informations de dépannage
label-category = Cause
label-correlation = Identifiant de corrélation
label-time = Heure (UTC)
label-client-ip = Adresse IP
label-application = Application
label-registered = Appareil enregistré
label-compliant = Appareil conforme
label-trust-type = Type de jonction
label-platform = Plateforme
label-os-version = Version du système
label-client-app = Connexion depuis
label-support = Support
label-policies = Stratégies appliquées
label-admin-details = Détails de l’évaluation
value-yes = Oui
value-no = Non
value-unknown = Inconnu
value-none = Aucun
trust-AzureAD = Joint à Microsoft Entra (appareil de l’entreprise)
trust-ServerAD = Joint hybride (domaine de l’entreprise)
trust-Workplace = Enregistré (appareil personnel)
client-browser = Navigateur web
client-mobileAppsAndDesktopClients = Application de bureau ou mobile
client-exchangeActiveSync = Application de messagerie (Exchange ActiveSync)
client-other = Ancien logiciel (protocole hérité)

## Causes : un titre court et une phrase pour chaque catégorie d’explication
category-deviceNotRegistered-title = Appareil non enregistré
category-deviceNotRegistered-text = Cette application ne peut être ouverte que depuis un appareil connu de votre organisation, et l’appareil que vous utilisez n’y est pas enregistré.
category-deviceNotCompliant-title = Appareil non conforme aux exigences de sécurité
category-deviceNotCompliant-text = Votre appareil est connu de votre organisation, mais il ne respecte pas actuellement ses exigences de sécurité (par exemple les mises à jour, le chiffrement ou le verrouillage de l’écran).
category-deviceNotHybridJoined-title = Ordinateur de l’entreprise requis
category-deviceNotHybridJoined-text = Cette application ne peut être ouverte que depuis un ordinateur géré par votre organisation et relié au domaine de son réseau.
category-osVersionTooLow-title = Système d’exploitation trop ancien
category-osVersionTooLow-text = La version du système d’exploitation de votre appareil est trop ancienne pour ouvrir cette application.
category-device-title = Appareil non autorisé
category-device-text = Cet appareil, ou ce type d’appareil, n’est pas autorisé à ouvrir cette application.
category-location-title = Lieu non autorisé
category-location-text = Vous vous connectez depuis un lieu ou un réseau à partir duquel cette application ne peut pas être utilisée.
category-anonymousNetwork-title = VPN ou réseau anonyme
category-anonymousNetwork-text = Vous semblez passer par un VPN, un proxy ou un réseau d’anonymisation, qui masque l’endroit où vous vous trouvez réellement.
category-platform-title = Type d’appareil non pris en charge
category-platform-text = Cette application ne peut pas être ouverte depuis ce type d’appareil ou de système d’exploitation.
category-clientApp-title = Mode de connexion non autorisé
category-clientApp-text = Cette application ne peut pas être ouverte de cette façon (dans un navigateur web, dans une application ou avec un ancien logiciel de messagerie).
category-approvedApp-title = Application approuvée requise
category-approvedApp-text = Cette application doit être ouverte depuis une application approuvée par votre organisation, comme les applications mobiles officielles de Microsoft.
category-appProtection-title = Application protégée requise
category-appProtection-text = Cette application doit être ouverte depuis une application que votre organisation protège par ses règles de protection des données.
category-risk-title = Connexion inhabituelle
category-risk-text = Cette connexion ou votre compte présente un comportement inhabituel ou risqué : l’accès a été bloqué pour vous protéger.
category-authenticationFlow-title = Méthode de connexion non autorisée
category-authenticationFlow-text = La façon dont vous vous êtes connecté (par exemple un code saisi sur un autre appareil, ou une connexion transmise depuis un autre appareil) n’est pas autorisée pour cette application.
category-blocked-title = Accès non autorisé
category-blocked-text = Votre organisation n’autorise pas l’accès à cette application dans cette situation. Vous ne pouvez rien y changer vous-même.
category-mfaRequired-title = Vérification supplémentaire (MFA) requise
category-mfaRequired-text = Pour ouvrir cette application, vous devez confirmer votre identité avec une seconde méthode, comme l’application Authenticator, un SMS ou une clé de sécurité.
category-authenticationStrength-title = Méthode de connexion plus forte requise
category-authenticationStrength-text = Cette application exige une façon de vous connecter plus sûre que celle que vous avez utilisée, comme une clé de sécurité, Windows Hello ou une clé d’accès (passkey).
category-termsOfUse-title = Conditions d’utilisation à accepter
category-termsOfUse-text = Vous devez lire et accepter les conditions d’utilisation de votre organisation avant d’ouvrir cette application.
category-passwordChange-title = Changement de mot de passe requis
category-passwordChange-text = Vous devez changer votre mot de passe avant de pouvoir ouvrir cette application.

## Ce que l’utilisateur peut faire, une phrase par action
action-registerDevice = Enregistrez cet appareil auprès de votre organisation (par exemple avec l’application Portail d’entreprise, ou dans « Accès Professionnel ou Scolaire » des paramètres de l’appareil), puis réessayez.
action-makeDeviceCompliant = Mettez votre appareil en conformité : ouvrez l’application Portail d’entreprise, vérifiez l’état de l’appareil et suivez ses instructions, puis réessayez.
action-updateOs = Installez les dernières mises à jour de votre système d’exploitation, redémarrez l’appareil, puis réessayez.
action-useAnotherDevice = Utilisez un autre appareil, par exemple un ordinateur ou un téléphone fourni ou géré par votre organisation.
action-disconnectVpn = Déconnectez-vous de votre VPN ou de votre proxy (applications VPN personnelles comprises), puis réessayez.
action-signInFromAllowedLocation = Réessayez depuis un lieu autorisé, comme le réseau de votre bureau ou votre pays habituel.
action-useDesktopApp = Ouvrez cette application avec son application de bureau ou mobile plutôt qu’avec un navigateur web.
action-useBrowser = Ouvrez cette application dans un navigateur web plutôt que dans l’application.
action-useApprovedApp = Utilisez une application approuvée par votre organisation (par exemple Outlook ou Microsoft Edge sur un téléphone) pour ouvrir cette application.
action-useModernClient = Votre logiciel utilise une ancienne méthode de connexion qui n’est pas autorisée : utilisez une application à jour, comme une version récente d’Outlook.
action-completeMfa = Reconnectez-vous et effectuez la vérification supplémentaire (par exemple en approuvant la notification dans l’application Authenticator).
action-completeMfaInHomeOrganization = Effectuez la vérification supplémentaire dans votre propre organisation : reconnectez-vous et validez l’authentification multifacteur que votre organisation d’origine demande.
action-useStrongerMethod = Connectez-vous avec une méthode plus forte, comme une clé de sécurité, Windows Hello ou une clé d’accès (passkey). Si vous n’en avez pas, demandez à votre support d’en configurer une.
action-changePassword = Changez votre mot de passe, puis reconnectez-vous avec le nouveau.
action-acceptTermsOfUse = Reconnectez-vous et acceptez les conditions d’utilisation lorsqu’elles s’affichent.
action-waitAndRetry = Patientez un moment, puis réessayez plus tard.
action-contactSupport = Contactez votre support informatique et communiquez-lui les informations de dépannage ci-dessous.
action-contactSupport-with = Contactez votre support informatique ({ $support }) et communiquez-lui les informations de dépannage ci-dessous.

## Divulgation détaillée : ce que la règle décisive a vérifié, en termes génériques
condition-location = Lieu : hors des lieux autorisés ou approuvés
condition-devicePlatform = Plateforme de l’appareil : cette plateforme est restreinte
condition-devices = Appareil : l’état ou les propriétés de cet appareil sont restreints
condition-clientApps = Application cliente : ce mode de connexion (navigateur, application ou protocole hérité) est restreint
condition-signInRisk = Risque de connexion : cette connexion a été jugée risquée
condition-userRisk = Risque utilisateur : le compte a été jugé à risque
condition-insiderRisk = Risque interne : le compte a été signalé
condition-authenticationFlow = Flux d’authentification : ce flux de connexion (code d’appareil ou transfert) est restreint
control-block = Octroi : l’accès est bloqué
control-mfa = Octroi : authentification multifacteur requise
control-authenticationStrength = Octroi : méthode d’authentification plus forte requise
control-compliantDevice = Octroi : appareil conforme requis
control-domainJoinedDevice = Octroi : appareil joint hybride requis
control-approvedApplication = Octroi : application cliente approuvée requise
control-compliantApplication = Octroi : stratégie de protection des applications requise
control-passwordChange = Octroi : changement de mot de passe requis
control-riskRemediation = Octroi : correction sécurisée du risque requise
control-termsOfUse = Octroi : les conditions d’utilisation doivent être acceptées
control-customAuthenticationFactors = Octroi : vérification personnalisée requise
control-signInFrequency = Session : une nouvelle connexion est requise
