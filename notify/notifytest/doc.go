// Package notifytest gives tests the far ends of package notify's channels
// on loopback: an SMTP server that keeps what it receives and a webhook
// receiver that decodes what is posted to it. Both stop when the test
// ends, and both let a test wait for deliveries instead of sleeping.
package notifytest
